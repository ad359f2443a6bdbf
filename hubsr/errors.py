"""The one exception type users of hubsr need to catch (the others here are its subclasses)."""


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
    ``scale``: ``reason`` then says why), ``others`` the bundled models of ``scale``.
    """

    def __init__(
        self,
        name: str,
        scale: int,
        model_scale: int | None,
        others: list[str],
        reason: str = "",
    ):
        self.name, self.scale, self.model_scale = name, scale, model_scale
        self.others, self.reason = others, reason
        if model_scale is None:
            message = f"{name} at x{scale}: {reason}"
        else:
            offer = (
                f"bundled x{scale} models: {', '.join(others)}"
                if others
                else f"no bundled model upscales x{scale}"
            )
            if not others and _bicubic(scale):
                offer += "; bicubic does"
            message = f"{name} upscales x{model_scale}, not x{scale}; {offer}"
        super().__init__(message)


def _bicubic(scale: int) -> bool:
    """Whether ``bicubic`` loads at ``scale``: a hint offers only what works."""
    from .registry import find_variant  # here, not above: the registry imports this module

    return find_variant(f"bicubic-x{scale}") is not None
