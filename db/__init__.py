"""The store: SQLAlchemy 2 typed models, sessions, Alembic migrations."""
