"""The review page's bridge to the browser's video player: seek, play and show it; report where it was paused.

`st.video` can only be given a start time, which leaves the video paused and, after a click far
down the page, out of sight. `player_bridge` mounts a tiny `st.components.v2` component (inline
JavaScript, no build step, nothing fetched) next to the player. A click on a chart point plays
from that second at once, in the browser. Each new `seek` it is handed
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
SETTLE_MS = 400  # ms without pause/seek events before the paused second is reported (one rerun per gesture)
_JS = """
const SETTLE_MS = %(settle_ms)d;
export default function({ data, setStateValue }) {
  // The player may be drawn after this runs (a busy browser): wait for it rather than bind nothing until a rerun.
  let cleanup = null;
  const start = () => {
    const video = document.querySelector('%(selector)s');
    if (video) cleanup = attach(video, data, setStateValue);
    return Boolean(video);
  };
  const waiting = start() ? null : setInterval(() => { if (start()) clearInterval(waiting); }, 200);
  return () => {
    clearInterval(waiting);
    if (cleanup) cleanup();
  };
}

function attach(video, data, setStateValue) {
  const state = (window.__rapportPlayer = window.__rapportPlayer || { applied: 0 });
  const play = (t) => {
    video.currentTime = t;
    video.scrollIntoView({ block: 'center', behavior: 'instant' });
    const playing = video.play();
    if (playing) playing.catch(() => {});  // a browser that refuses autoplay leaves it cued, in view
  };
  // One report once the user has settled (a pause and a scrub are several events): one rerun, the last second.
  const report = () => {
    clearTimeout(state.settle);
    state.settle = setTimeout(() => {
      const second = Math.floor(video.currentTime);
      // The start second is known already (the player loading there is no pause of the user's): no rerun for it.
      if (video.paused && second !== data.start) setStateValue('position', second);
    }, SETTLE_MS);
  };
  video.addEventListener('pause', report);
  video.addEventListener('seeked', report);
  const seek = data && data.seek;
  if (seek && seek.seq !== state.applied) {
    state.applied = seek.seq;
    if (video.readyState >= 1) play(seek.t); else video.addEventListener('loadedmetadata', () => play(seek.t), { once: true });
  }
  // Clicks on the charts play from the clicked second in the browser itself (no round trip). Charts are
  // drawn (and redrawn) after this runs, so new ones are looked for until the page reruns.
  const bind = () => document.querySelectorAll((data && data.charts) || '.none').forEach((chart) => {
    if (chart.__rapportPlays || !chart.on) return;
    chart.__rapportPlays = true;
    chart.on('plotly_click', (event) => {
      const point = event && event.points && event.points[0];
      if (point && typeof point.x === 'number') play(Math.max(0, point.x));
    });
  });
  bind();
  const timer = setInterval(bind, 500);
  return () => {
    clearInterval(timer);
    video.removeEventListener('pause', report);
    video.removeEventListener('seeked', report);
  };
}
""" % {"selector": VIDEO_SELECTOR, "settle_ms": SETTLE_MS}
_component = st.components.v2.component("rapport_player", js=_JS)


@dataclass(frozen=True)
class Seek:
    """One request to play from `t_s` (seconds of call time); `seq` tells a new request from a rerun of the last."""

    t_s: int
    seq: int


def player_bridge(start_s: int, seek: Seek | None, key: str, on_position: Callable[[], None],
                  charts: str = "") -> int | None:
    """Mount the bridge after `st.video`; returns the second the player was last paused at (None until then).

    `start_s` is the player's start second (`st.video`'s start_time), which is not reported: the page knows it.
    `charts` is a CSS selector of the Plotly charts whose clicked point (its x, in seconds) plays the call.

    `on_position` runs (as a callback, before the page reruns) whenever that second changes; it reads
    `st.session_state[key].position`.
    """
    data = {"start": start_s, "charts": f"{charts} .js-plotly-plot" if charts else ""}
    if seek:
        data["seek"] = {"t": seek.t_s, "seq": seek.seq}
    result = _component(key=key, data=data, height=0, on_position_change=on_position)
    position = getattr(result, "position", None)
    return int(position) if position is not None else None
