"""Access: users and passwords, the one access policy, workspace settings, the audit log, retention."""
