"""The kernel connection of a dashboard page (websocket), safe against malformed frames.

A page talks to its kernel over a websocket in one of two framings: Jupyter's ``v1`` protocol
(what browsers use: 8-byte little-endian part offsets) or the older one (4-byte big-endian). Both
Voilà 0.5 and jupyter_server read the number of parts from the first bytes of a frame and then
loop that many times without checking it against the frame's length:

- Voilà reads every frame it *sends* as if it were ``v1``, so a client on the older framing that
  receives a widget's binary data (a chart) makes the server loop over billions of "parts",
  blocking every page and eating memory (measured: 4.5 GB within a minute);
- jupyter_server does the same with a frame a client *sends*, so one crafted frame of 8 bytes
  would do it on purpose.

:class:`SafeKernelWebsocketHandler` replaces Voilà's handler: it reads a frame's header in the
framing it is really in, and closes a connection that sends a frame whose part table does not
fit the frame.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

__all__ = [
    "V1_PROTOCOL",
    "MAX_PARTS",
    "v1_frame_fits",
    "legacy_frame_fits",
    "SafeKernelWebsocketHandler",
]

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
MAX_PARTS = 4096  # a message has 4 parts (header, parent, metadata, content) plus its buffers


def v1_frame_fits(frame: bytes) -> bool:
    """True when a ``v1`` frame's part table fits in the frame (count, then rising offsets).

    >>> v1_frame_fits((2**62).to_bytes(8, "little"))
    False
    """
    if len(frame) < 8:
        return False
    count = int.from_bytes(frame[:8], "little")
    if not 2 <= count <= MAX_PARTS or 8 * (count + 1) > len(frame):
        return False
    offsets = [int.from_bytes(frame[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
    return (
        offsets[0] >= 8 * (count + 1) and offsets == sorted(offsets) and offsets[-1] <= len(frame)
    )


def legacy_frame_fits(frame: bytes) -> bool:
    """True when a frame of the older framing has a part table that fits in it.

    >>> legacy_frame_fits(struct.pack("!I", 2**31))
    False
    """
    if len(frame) < 4:
        return False
    (count,) = struct.unpack("!I", frame[:4])
    if not 1 <= count <= MAX_PARTS or 4 * (count + 1) > len(frame):
        return False
    offsets = struct.unpack(f"!{count}I", frame[4 : 4 * (count + 1)])
    return offsets[0] >= 4 * (count + 1) and list(offsets) == sorted(offsets)


def _legacy_header(frame: bytes) -> dict | None:
    if not legacy_frame_fits(frame):
        return None
    (count,) = struct.unpack("!I", frame[:4])
    offsets = struct.unpack(f"!{count}I", frame[4 : 4 * (count + 1)])
    end = offsets[1] if count > 1 else len(frame)
    try:
        return json.loads(frame[offsets[0] : end]).get("header")
    except ValueError:
        return None


class SafeKernelWebsocketHandler(VoilaKernelWebsocketHandler):
    """Voilà's kernel websocket without its unchecked reading of frames (module docstring)."""

    def _fits(self, frame: bytes) -> bool:
        if self.selected_subprotocol == V1_PROTOCOL:
            return v1_frame_fits(frame)
        return legacy_frame_fits(frame)

    def write_message(self, message: Any, binary: bool = False):
        if isinstance(message, bytes) and self.selected_subprotocol != V1_PROTOCOL:
            header = _legacy_header(message)
            if header and header.get("msg_type") == "execute_input":
                return None  # Voilà never shows the code it runs
            return super(VoilaKernelWebsocketHandler, self).write_message(message, binary)
        return super().write_message(message, binary)

    def on_message(self, ws_message: Any):
        if isinstance(ws_message, bytes) and not self._fits(ws_message):
            self.log.warning("Closing a kernel connection that sent a malformed frame.")
            self.close(1003, "malformed frame")
            return None
        return super().on_message(ws_message)
