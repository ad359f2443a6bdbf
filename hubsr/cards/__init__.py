"""Model cards (``README.md`` with Hub metadata), rendered from a model folder and benchmark JSON.

:func:`write_card` turns a model folder plus the JSON written by ``hubsr benchmark --json`` into
the folder's ``README.md``: YAML front matter with a ``model-index`` whose every result records
the measurement protocol in ``metric_args``, a three-line usage example, measured results next to
bicubic and to clearly marked published references (given by the caller, see
:func:`load_published`), speed, the training recipe, limitations and the architecture's citation
(the BibTeX in its module docstring). Without benchmark JSON the card shows what the training
record (:class:`~hubsr.record.TrainSummary`) measured: the card a training run leaves. Nothing
here runs a model.

One job per module: :mod:`.card` assembles and writes the card, :mod:`.inputs` reads the JSON,
:mod:`.measured` renders the benchmark's sections (results, precision, speed, protocol),
:mod:`.training` the training record's, :mod:`.exports` and :mod:`.citation` the rest.
"""

from .card import render_card, write_card
from .inputs import load_benchmark_json, load_published
from .measured import BF16_TOLERANCE_DB

__all__ = [
    "BF16_TOLERANCE_DB",
    "load_benchmark_json",
    "load_published",
    "render_card",
    "write_card",
]
