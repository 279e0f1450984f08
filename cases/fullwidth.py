"""Full-width forms as their ASCII twins: what a Chinese input method types for ASCII
("／ｃａｓｅ", "２ｄ", "Ｐ１", "＃１２") read as ASCII. Standard library only.

Only the full-width block (U+FF01-U+FF5E) and the ideographic space fold; NFKC would
also make "²" a 2 and "①" a 1, which no one typed as a number.
"""

from __future__ import annotations

_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def ascii_forms(text: str) -> str:
    """`text` with every full-width character as its ASCII twin."""
    return text.translate(_FOLD)
