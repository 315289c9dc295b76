"""The Alembic migrations build exactly the schema the models declare (a forgotten migration fails here)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db.models import Base
from db.session import get_engine, init_db


def test_migrated_store_matches_the_models(store):
    with get_engine().connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrading_a_used_store_keeps_every_row_never_reuses_ids_and_keeps_one_workspace(tmp_path):
    """A store at 0004 with calls, rows of theirs and two workspace rows (two workers that started at once)."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    init_db(url, "0004")
    with get_engine(url).begin() as c:
        for call_id in (1, 2):
            c.execute(text("INSERT INTO calls (id, title, status, settings, created_at) "
                           "VALUES (:id, 'c', 'done', '{}', '2026-01-01')"), {"id": call_id})
            c.execute(text("INSERT INTO jobs (call_id, state, progress, attempts, created_at) "
                           "VALUES (:id, 'done', 100, 1, '2026-01-01')"), {"id": call_id})
            c.execute(text("INSERT INTO emotion_seconds (call_id, role, second, face_present, n_frames) "
                           "VALUES (:id, 'rep', 0, 1, 4)"), {"id": call_id})
        c.execute(text("INSERT INTO workspace (id, rep_analysis, video_retention_days, data_retention_days, "
                       "audit_retention_days) VALUES (1, NULL, 30, 365, 730)"))
        c.execute(text("INSERT INTO workspace (id, rep_analysis, video_retention_days, data_retention_days, "
                       "audit_retention_days, updated_by, updated_at) VALUES (2, 0, 7, 90, 730, 'ada', '2026-01-02')"))
    init_db(url)
    with get_engine(url).begin() as c:
        assert c.execute(text("SELECT count(*) FROM emotion_seconds")).scalar() == 2  # no cascade in the rebuild
        assert c.execute(text("SELECT count(*) FROM jobs")).scalar() == 2
        assert c.execute(text("SELECT id, video_retention_days, updated_by FROM workspace")).all() == [(1, 7, "ada")]
        c.execute(text("DELETE FROM calls WHERE id = 2"))  # the newest call: plain SQLite would hand 2 out again
        c.execute(text("INSERT INTO calls (title, status, settings, created_at, attempt) "
                       "VALUES ('new', 'queued', '{}', '2026-01-03', 0)"))
        assert c.execute(text("SELECT id FROM calls WHERE title = 'new'")).scalar() == 3
        assert c.execute(text("SELECT count(*) FROM jobs")).scalar() == 1  # the deleted call's job went with it
        try:
            c.execute(text("INSERT INTO workspace (id, video_retention_days, data_retention_days, "
                           "audit_retention_days) VALUES (2, 30, 365, 730)"))
        except Exception as error:  # noqa: BLE001 - the schema refuses a second row
            assert "CHECK constraint failed" in str(error)
        else:
            raise AssertionError("a second workspace row was accepted")


def test_stored_shifts_are_renamed_by_where_the_mood_went_and_back(tmp_path):
    """0017 re-labels the shifts of calls analysed before it: a smile fading was stored "negative" (valence 1 -> 0), a
    recovery from sadness to neutral "positive"; both are "neutral" now. Downgrading restores the old names."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from db.session import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    init_db(url, "0016")
    old = {("happy", "neutral"): "negative", ("happy", "surprise"): "negative", ("sad", "neutral"): "positive",
           ("neutral", "happy"): "positive", ("neutral", "sad"): "negative", ("sad", "angry"): "neutral",
           ("neutral", "surprise"): "neutral"}
    new = {("happy", "neutral"): "neutral", ("happy", "surprise"): "neutral", ("sad", "neutral"): "neutral",
           ("neutral", "happy"): "positive", ("neutral", "sad"): "negative", ("sad", "angry"): "neutral",
           ("neutral", "surprise"): "neutral"}
    with get_engine(url).begin() as c:
        c.execute(text("INSERT INTO calls (id, title, status, settings, created_at) "
                       "VALUES (1, 'c', 'done', '{}', '2026-01-01')"))
        for k, ((before, after), name) in enumerate(old.items()):
            c.execute(text("INSERT INTO shifts (call_id, role, t_s, from_emotion, to_emotion, direction, strength, "
                           "duration_s) VALUES (1, 'prospect', :t, :a, :b, :d, 0.3, 5)"),
                      {"t": 10.0 * k, "a": before, "b": after, "d": name})

    def stored() -> dict:
        with get_engine(url).connect() as c:
            rows = c.execute(text("SELECT from_emotion, to_emotion, direction FROM shifts ORDER BY t_s")).all()
        return {(a, b): d for a, b, d in rows}

    init_db(url)
    assert stored() == new
    alembic = Config()  # as `alembic -c db/alembic.ini downgrade 0016` runs it
    alembic.set_main_option("script_location", str(MIGRATIONS))
    alembic.set_main_option("sqlalchemy.url", url)
    command.downgrade(alembic, "0016")
    assert stored() == old


def test_calls_analysed_before_0019_are_marked_guessed_from_their_roles_note(tmp_path):
    """0019 marks stored calls whose roles note said the prospect was a guess (`pipeline.roles.prospect_guessed`), so
    the Calls list and the Reps page hold their figures back like a new analysis would; other notes mark nothing."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    init_db(url, "0018")
    notes = {1: "The video does not show which person is the rep (no gallery or self-view to go by); pick the rep on "
                "the review page. Two people on this call: Rapport guessed person 1 is the prospect; check Fix roles.",
             2: "Three people on this call: Rapport guessed person 2 is the prospect; check Fix roles.",
             3: "The rep position (right) points to person 1, whose face sat toward it for 4 s, but person 2's face sat "
                "where a self-view thumbnail does for 30 s; person 2 was taken as the rep. Check the roles.",
             4: "The rep was taken to be the self-view thumbnail (the person recording); if the rep is the big tile, "
                "pick them in Fix roles.",
             5: None}
    with get_engine(url).begin() as c:
        for call_id, note in notes.items():
            c.execute(text("INSERT INTO calls (id, title, status, settings, created_at, roles_note) "
                           "VALUES (:id, 'c', 'done', '{}', '2026-01-01', :note)"), {"id": call_id, "note": note})
    init_db(url)
    with get_engine(url).connect() as c:
        assert dict(c.execute(text("SELECT id, roles_guessed FROM calls")).all()) == {1: 1, 2: 1, 3: 1, 4: 0, 5: 0}
