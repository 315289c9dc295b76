"""Upload intake: probe a recording, store it under a random name, add a queued call.

Bad files fail here (`InputError` naming the user's own file), before anything is stored; a failure after
the copy removes it. Whether the rep is analysed is never the caller's choice: the workspace decides
(`access.workspace.rep_analysis_enabled`), and the call records it in its analysis settings.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import shutil
import uuid
from dataclasses import asdict, replace
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from access.workspace import rep_analysis_enabled
from config import UPLOADS, Settings, get_settings
from db.models import Call, CallStatus, Rep, utcnow
from db.session import session_scope
from pipeline.analyze import AnalysisSettings
from pipeline.errors import StorageFull
from pipeline.video import VideoInfo, probe_upload

UPLOAD_CHUNK_BYTES = 1 << 20  # uploads are copied 1 MiB at a time


def rep_name_key(name: str) -> str:
    """What two rep names must share to be the same rep: case and spacing ignored ("Dana  Lee" is "dana lee")."""
    return " ".join(name.split()).casefold()


def find_rep(session: Session, name: str) -> Rep | None:
    """The rep whose name matches `name` ignoring case and spaces (see `rep_name_key`), or None."""
    key = rep_name_key(name)
    return next((r for r in session.scalars(select(Rep).order_by(Rep.id)) if rep_name_key(r.name) == key), None)


def get_or_create_rep(session: Session, name: str | None, team: str | None = None) -> Rep | None:
    """The rep of that name (case and spaces ignored); a new one joins `team` (so the manager who named them sees
    their calls)."""
    if not name or not name.strip():
        return None
    name = " ".join(name.split())
    rep = find_rep(session, name)
    if rep is None:
        rep = Rep(name=name, team=team)
        session.add(rep)
        session.flush()
    return rep



def create_call(video: Path, *, title: str | None = None, rep: str | None = None, prospect_name: str | None = None,
                prospect_company: str | None = None, call_date: dt.date | None = None,
                original_filename: str | None = None, analysis: AnalysisSettings = AnalysisSettings(),
                settings: Settings | None = None, team: str | None = None, consent_confirmed_by: str | None = None,
                consent_note: str | None = None) -> int:
    """Probe the upload (bad files fail here, before anything is stored), copy it in, add a queued call.

    Whether the rep is analysed is not the caller's choice: it is the workspace's (see access.workspace).
    `consent_confirmed_by` is who confirmed the participants were told (stored with the time, shown in reports).
    """
    settings = settings or get_settings()
    display_name = original_filename or Path(video).name
    info = probe_upload(video, display_name, settings)
    stored = UPLOADS / f"{uuid.uuid4().hex}{_safe_suffix(info, display_name)}"  # upload names are never paths
    target = settings.data_dir / stored
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(video, "rb") as source, open(target, "xb") as out:
            digest = write_upload(source, out, display_name)
        with session_scope() as session:
            analysis = replace(analysis, rep_analysis=rep_analysis_enabled(session))  # the workspace decides, always
            call = Call(
                title=(title or Path(display_name).stem)[:300],
                rep=get_or_create_rep(session, rep, team),
                prospect_name=prospect_name,
                prospect_company=prospect_company,
                call_date=call_date,
                source_path=str(stored),
                original_filename=display_name[:300],
                content_sha256=digest,
                duration_s=info.duration_s,
                fps=info.fps,
                width=info.width,
                height=info.height,
                status=CallStatus.QUEUED,
                settings=asdict(analysis),
                consent_confirmed_by=consent_confirmed_by,
                consent_confirmed_at=utcnow() if consent_confirmed_by else None,
                consent_note=(consent_note or "").strip() or None,
            )
            session.add(call)
            session.flush()
            return call.id
    except BaseException:
        target.unlink(missing_ok=True)
        raise



def write_upload(source: BinaryIO, out: BinaryIO, display_name: str) -> str:
    """Copy an upload's bytes into `out` (the caller removes `out` if this raises); returns their SHA-256 (hex), the
    recording's identity whatever its name (`earlier_copies`). A full disk raises `StorageFull` naming the user's
    file, never a server path or a traceback."""
    digest = hashlib.sha256()
    try:
        shutil.copyfileobj(source, _Hashing(out, digest), UPLOAD_CHUNK_BYTES)
        out.flush()
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(f"{display_name}: could not be stored: the server's disk is full. Nothing was kept; "
                              "ask an admin to free some space, then upload it again.") from None
        raise
    return digest.hexdigest()


class _Hashing:
    """A writable file whose written bytes also feed a hash (so an upload is read once, stored and hashed)."""

    def __init__(self, out: BinaryIO, digest: hashlib._Hash):
        self._out, self._digest = out, digest

    def write(self, chunk: bytes) -> int:
        self._digest.update(chunk)
        return self._out.write(chunk)


def earlier_copies(session: Session, digest: str, size: int, among: Select, settings: Settings | None = None
                   ) -> list[Call]:
    """The calls whose id `among` selects that were uploaded with the very bytes of SHA-256 `digest` (`size` bytes),
    oldest first: a manager who uploads a call twice is told before a second call of it is made.

    A call stored before digests were kept (migration 0018) is hashed here, and its digest kept, when its stored file
    still exists and has `size` bytes; other sizes cannot match, so nothing is read for them."""
    settings = settings or get_settings()
    unhashed = session.scalars(select(Call).where(Call.id.in_(among), Call.content_sha256.is_(None),
                                                  Call.source_path.is_not(None))).all()
    for call in unhashed:
        stored = settings.data_dir / call.source_path
        if stored.is_file() and stored.stat().st_size == size:
            with open(stored, "rb") as source:
                call.content_sha256 = hashlib.file_digest(source, "sha256").hexdigest()
    return list(session.scalars(select(Call).where(Call.id.in_(among), Call.content_sha256 == digest)
                                .order_by(Call.id)))


_SUFFIXES = {"matroska": (".mkv", ".webm"), "mov": (".mp4", ".mov", ".m4v"), "avi": (".avi",)}
"""FFmpeg's demuxer (the first name of `VideoInfo.container`: "matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2") -> the
suffixes of its files, the default first."""


def _safe_suffix(info: VideoInfo, upload_name: str) -> str:
    """The stored file's suffix: the upload's own where it names what FFmpeg found inside (an .mkv stays .mkv, a .mov
    .mov: trial 9 found them kept as .webm and .mp4), else that container's usual one; never anything else the
    upload's name says."""
    suffixes = _SUFFIXES.get(info.container.split(",")[0], (".video",))
    own = Path(upload_name).suffix.lower()
    return own if own in suffixes else suffixes[0]
