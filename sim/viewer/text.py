"""Text on frames, for the renderer and every domain's drawing module.

Labels go through :func:`label`, so a test can record what a frame says (``recording()``)
instead of reading pixels back: "the station is labelled" is then a checkable claim.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pygame

from sim.viewer.palette import PANEL, TEXT

_FONTS: dict[int, Any] = {}
_RECORD: list[list[str]] = []


def font(size: int) -> Any:
    """pygame's default font at ``size`` (cached; initialises the font module once)."""
    if size not in _FONTS:
        pygame.font.init()
        _FONTS[size] = pygame.font.Font(None, size)
    return _FONTS[size]


def label(
    surf: pygame.Surface,
    text: str,
    pos: Any,
    *,
    size: int = 16,
    colour: tuple[int, int, int] = TEXT,
    anchor: str = "topleft",
    backdrop: bool = False,
) -> pygame.Rect:
    """Draw ``text`` with its ``anchor`` point (a pygame Rect attribute) at ``pos``; with
    ``backdrop``, on a white box so it reads over any map. Returns the drawn rectangle."""
    img = font(size).render(text, True, colour)
    rect = img.get_rect(**{anchor: (int(pos[0]), int(pos[1]))})
    if backdrop:
        pygame.draw.rect(surf, PANEL, rect.inflate(4, 2))
    surf.blit(img, rect)
    for log in _RECORD:
        log.append(text)
    return rect


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect every label drawn inside the block (tests)."""
    log: list[str] = []
    _RECORD.append(log)
    try:
        yield log
    finally:
        _RECORD.remove(log)
