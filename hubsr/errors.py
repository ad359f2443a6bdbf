"""The one exception type users of hubsr need to catch (the others here are its subclasses).

Every module of hubsr raises these, so this one imports nothing of hubsr: what a message needs
to know (the bundled models of a scale, whether bicubic has it) is passed in as data by the
module that knows it, or, for :class:`ExpectedScaleError`, looked up through the function that
:mod:`hubsr.bundled` registers.
"""

from __future__ import annotations

from collections.abc import Callable


class HubSRError(ValueError):
    """Bad input or a model folder that cannot be used; the message says what and why."""


class UnknownModelError(HubSRError):
    """A model name that is no folder, bundled model, variant or Hub repo id (``user/repo``).

    ``known`` are the names that load without a folder (bundled models, then ``bicubic``),
    ``variants`` the other registered variants, ``suggestion`` the closest name or None.
    """

    def __init__(self, name: str, known: list[str], variants: list[str], suggestion: str | None):
        self.name, self.known, self.variants, self.suggestion = name, known, variants, suggestion
        others = f"; other variants: {', '.join(variants)}" if variants else ""
        super().__init__(self.describe() + others)

    def describe(self, flag: str = "") -> str:
        """The message, with ``flag`` (e.g. ``"--model "``) before each name it offers."""
        hint = f"did you mean {flag}{self.suggestion}? " if self.suggestion else ""
        # After a flag the name is the flag's value; alone, the sentence names it first.
        what = (
            f"{flag}{self.name}: no model folder or bundled model has this name"
            if flag
            else f"{self.name} is not a model folder and no bundled model has this name"
        )
        return f"{what} (a Hub repo id is user/repo); {hint}bundled models: {', '.join(self.known)}"


class ScaleError(HubSRError):
    """A model asked for a scale it does not have.

    ``model_scale`` is the model's own scale (None where no model of that name exists at
    ``scale``: ``reason`` then says why), ``others`` the bundled models of ``scale``, and
    ``bicubic_refusal`` why ``bicubic`` does not load at ``scale`` (None: it does;
    :func:`hubsr.registry.bicubic_refusal`), so that a hint offers only what works.
    """

    def __init__(
        self,
        name: str,
        scale: int,
        model_scale: int | None,
        others: list[str],
        reason: str = "",
        *,
        bicubic_refusal: str | None = None,
    ):
        self.name, self.scale, self.model_scale = name, scale, model_scale
        self.others, self.reason, self.bicubic_refusal = others, reason, bicubic_refusal
        super().__init__(self.describe())

    def describe(self, flag: str = "") -> str:
        """The message; with ``flag`` (``"--scale "``) in the command line's words, whose hints
        name its flags."""
        scale = self.scale
        if self.model_scale is None:
            return (
                f"{flag}{scale}: {self.reason}"
                if flag
                else f"{self.name} at x{scale}: {self.reason}"
            )
        if self.others:
            offer = f"bundled x{scale} models: {', '.join(self.others)}"
            if flag:
                offer += f" (or leave out --model to get the best x{scale} one)"
        else:
            offer = f"no bundled model upscales x{scale}"
            if flag:
                offer += f"; {without_a_bundled_model(scale, self.bicubic_refusal)}"
            elif self.bicubic_refusal is None:
                offer += "; bicubic does"
        if flag:
            return (
                f"{flag}{scale} does not match {self.name}, which upscales x{self.model_scale}; "
                f"{offer}"
            )
        return f"{self.name} upscales x{self.model_scale}, not x{scale}; {offer}"


class TooManyPixelsError(HubSRError):
    """An image with more pixels than a limit (``max_pixels``), found from its size alone."""

    def __init__(self, name: str, width: int, height: int, limit: int):
        self.name, self.width, self.height, self.limit = name, width, height, limit
        super().__init__(self.describe())

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def describe(self, flag: str = "") -> str:
        """The message; with ``flag`` (``"--max-pixels"``) in the command line's words."""
        size = f"{self.name} has {self.width}x{self.height} = {self.pixels:,} pixels, more than "
        if flag:
            return f"{size}{flag} {self.limit:,}; raise {flag} (0: no limit) if you trust it"
        return (
            f"{size}the limit of {self.limit:,}; pass a larger max_pixels (0: no limit) if you "
            "trust this image"
        )


def without_a_bundled_model(scale: int, bicubic_refusal: str | None) -> str:
    """What to use on the command line for a ``scale`` that no bundled model has: ``--model
    bicubic`` only if it has that scale (``bicubic_refusal`` None; a hint never offers what
    then fails), or a model of the user's own."""
    own = f"name a x{scale} model with --model PATH|REPO_ID"
    if bicubic_refusal is not None:
        return f"nor does bicubic ({bicubic_refusal}); {own}"
    return f"--model bicubic does (the baseline), or {own}"


class ExpectedScaleError(ScaleError):
    """:func:`hubsr.pipeline.upscale` was given ``scale`` and a model of another scale.

    The pipeline knows only the model contract, not which models ship: ``others`` are looked
    up here, through the function :mod:`hubsr.bundled` registers when it is imported (``import
    hubsr`` does), as :func:`register_bundled_lookup` says.
    """

    def __init__(self, scale: int, model_scale: int):
        super().__init__("this model", scale, model_scale, _bundled_of_scale(scale))

    def describe(self, flag: str = "") -> str:
        """The message (the pipeline has no flags: ``flag`` is not used)."""
        others = self.others
        offer = (
            f"bundled x{self.scale} models: {', '.join(others)}" if others else "none is bundled"
        )
        return (
            f"expected a x{self.scale} model, but this model upscales x{self.model_scale} ({offer})"
        )


def _no_bundled_models(scale: int) -> list[str]:
    return []


# The bundled models of a scale, default first: hubsr.bundled registers its lookup, because it
# builds on this module; this module never imports it.
_bundled_of_scale: Callable[[int], list[str]] = _no_bundled_models


def register_bundled_lookup(lookup: Callable[[int], list[str]]) -> None:
    """Make ``lookup(scale)`` the source of the bundled models an :class:`ExpectedScaleError`
    names (:func:`hubsr.bundled.models_of_scale`)."""
    global _bundled_of_scale
    _bundled_of_scale = lookup
