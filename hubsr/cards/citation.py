"""A card's Citation section: the BibTeX entries in the architecture module's docstring."""

from __future__ import annotations

import re
import sys

__all__ = ["citation_section"]


def citation_section(arch_cls) -> str:
    entries = bibtex_entries(sys.modules[arch_cls.__module__].__doc__)
    if not entries:
        return "## Citation\n\nThe architecture module gives no BibTeX entry."
    return (
        f"## Citation\n\nIf you use this model, please cite the {arch_cls.__name__} paper:\n\n"
        "```bibtex\n" + "\n\n".join(entries) + "\n```"
    )


def bibtex_entries(doc: str | None) -> list[str]:
    """Every BibTeX entry (``@type{...}`` with balanced braces) in a docstring."""
    doc = doc or ""
    entries = []
    for match in re.finditer(r"^\s*@\w+\{", doc, flags=re.MULTILINE):
        depth = 0
        for end in range(match.end() - 1, len(doc)):
            depth += {"{": 1, "}": -1}.get(doc[end], 0)
            if depth == 0:
                entries.append(doc[match.start() : end + 1].strip())
                break
    return entries
