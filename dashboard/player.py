"""The review page's bridge to the browser's video player: seek, play and show it; report where it was paused.

`st.video` can only be given a start time, which leaves the video paused and, after a click far
down the page, out of sight. `player_bridge` mounts a tiny `st.components.v2` component (inline
JavaScript, no build step, nothing fetched) next to the player. Each new `seek` it is handed
(numbered, so a rerun never replays an old one) moves the page's `<video>` to that second,
starts it and scrolls it to the middle of the screen. Whenever the user pauses or scrubs while
paused, it reports the player's whole second back as the component's `position` state, so a note
can be pinned where the video stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

VIDEO_SELECTOR = 'video[data-testid="stVideo"]'  # what st.video renders (Streamlit 1.67)
_JS = """
export default function({ data, setStateValue }) {
  const state = (window.__rapportPlayer = window.__rapportPlayer || { applied: 0 });
  const video = document.querySelector('%(selector)s');
  if (!video) return;
  const report = () => { if (video.paused) setStateValue('position', Math.floor(video.currentTime)); };
  video.addEventListener('pause', report);
  video.addEventListener('seeked', report);
  const seek = data && data.seek;
  if (seek && seek.seq !== state.applied) {
    state.applied = seek.seq;
    const go = () => {
      video.currentTime = seek.t;
      video.scrollIntoView({ block: 'center', behavior: 'instant' });
      const playing = video.play();
      if (playing) playing.catch(() => {});  // a browser that refuses autoplay leaves it cued, in view
    };
    if (video.readyState >= 1) go(); else video.addEventListener('loadedmetadata', go, { once: true });
  }
  return () => { video.removeEventListener('pause', report); video.removeEventListener('seeked', report); };
}
""" % {"selector": VIDEO_SELECTOR}
_component = st.components.v2.component("rapport_player", js=_JS)


@dataclass(frozen=True)
class Seek:
    """One request to play from `t_s` (seconds of call time); `seq` tells a new request from a rerun of the last."""

    t_s: int
    seq: int


def player_bridge(seek: Seek | None, key: str, on_position: Callable[[], None]) -> int | None:
    """Mount the bridge after `st.video`; returns the second the player was last paused at (None until then).

    `on_position` runs (as a callback, before the page reruns) whenever that second changes; it reads
    `st.session_state[key].position`.
    """
    data = {"seek": {"t": seek.t_s, "seq": seek.seq}} if seek else {}
    result = _component(key=key, data=data, height=0, on_position_change=on_position)
    position = getattr(result, "position", None)
    return int(position) if position is not None else None
