"""What a manager takes away: the facts and summary of a call, its charts, PDF/HTML/CSV exports."""
