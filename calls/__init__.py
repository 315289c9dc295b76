"""The call lifecycle: intake of an upload, fixing roles, the manager's annotations, deletion and the list."""
