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
                offer += f"; {without_a_bundled_model(scale)}"
            elif _bicubic(scale):
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


def without_a_bundled_model(scale: int) -> str:
    """What to use on the command line for a ``scale`` that no bundled model has: ``--model
    bicubic`` only if it has that scale (a hint never offers what then fails), or a model of
    the user's own."""
    from .registry import alias_variant  # here, not above: the registry imports this module

    own = f"name a x{scale} model with --model PATH|REPO_ID"
    try:
        alias_variant("bicubic", scale)
    except ScaleError as exc:
        return f"nor does bicubic ({exc.reason}); {own}"
    return f"--model bicubic does (the baseline), or {own}"


def _bicubic(scale: int) -> bool:
    """Whether ``bicubic`` loads at ``scale``: a hint offers only what works."""
    from .registry import find_variant  # here, not above: the registry imports this module

    return find_variant(f"bicubic-x{scale}") is not None
