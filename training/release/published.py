"""Published PSNR of reference methods, as the papers report them: the cards' comparison rows.

``PUBLISHED[scale][method]`` maps each of Set5, Set14 and BSD100 to the PSNR (dB, Y channel;
None: not reported for that set) and ``ref`` to where the numbers come from. The library takes
this table as an argument (``hubsr.cards.write_card(published=...)``, and ``hubsr report`` reads
``model_cards/results/published.json``, which ``training/release/generate.py`` writes from it); it
never imports it.
"""

from __future__ import annotations

import json

__all__ = ["PUBLISHED", "PUBLISHED_X2", "PUBLISHED_X3", "PUBLISHED_X4", "published_json"]

# Published x3 PSNR (dB, Y channel) on Set5 / Set14 / BSD100, as reported in the papers
# (VDSR's Table 3 for SRCNN). None: not reported for that set.
PUBLISHED_X3 = {
    "SRCNN": {
        "Set5": 32.75,
        "Set14": 29.30,
        "BSD100": 28.41,
        "ref": "Dong et al., TPAMI 2016, trained on ImageNet (as tabulated by Kim et al., "
        "CVPR 2016; 29.00 on Set14 when trained on T91)",
    },
    "ESPCN": {
        "Set5": 33.13,
        "Set14": 29.49,
        "BSD100": None,
        "ref": "Shi et al., CVPR 2016, trained on ImageNet (29.08 on Set14 when trained on "
        "T91; the paper reports BSD300/BSD500, not BSD100)",
    },
    "VDSR": {"Set5": 33.66, "Set14": 29.77, "BSD100": 28.82, "ref": "Kim et al., CVPR 2016"},
    "DRRN": {"Set5": 34.03, "Set14": 29.96, "BSD100": 28.95, "ref": "Tai et al., CVPR 2017"},
    "MemNet": {"Set5": 34.09, "Set14": 30.00, "BSD100": 28.96, "ref": "Tai et al., ICCV 2017"},
}

# The same references at x2 and x4 (the papers' tables; SRCNN as tabulated by VDSR).
_VDSR = "Kim et al., CVPR 2016"
_DRRN = "Tai et al., CVPR 2017"
_MEMNET = "Tai et al., ICCV 2017"
PUBLISHED_X2 = {
    "VDSR": {"Set5": 37.53, "Set14": 33.03, "BSD100": 31.90, "ref": _VDSR},
    "DRRN": {"Set5": 37.74, "Set14": 33.23, "BSD100": 32.05, "ref": _DRRN},
    "MemNet": {"Set5": 37.78, "Set14": 33.28, "BSD100": 32.08, "ref": _MEMNET},
}
PUBLISHED_X4 = {
    "VDSR": {"Set5": 31.35, "Set14": 28.01, "BSD100": 27.29, "ref": _VDSR},
    "DRRN": {"Set5": 31.68, "Set14": 28.21, "BSD100": 27.38, "ref": _DRRN},
    "MemNet": {"Set5": 31.74, "Set14": 28.26, "BSD100": 27.40, "ref": _MEMNET},
}
PUBLISHED = {2: PUBLISHED_X2, 3: PUBLISHED_X3, 4: PUBLISHED_X4}


def published_json() -> str:
    """The table as ``model_cards/results/published.json`` holds it (scales as string keys)."""
    return json.dumps({str(scale): rows for scale, rows in PUBLISHED.items()}, indent=2) + "\n"
