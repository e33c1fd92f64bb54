"""Registry: named entries (backbones, views, mask modes, folder layouts)."""


class Registry:
    """A name -> entry table with one clear error for an unknown name.

    Each part that can be extended keeps one registry; adding a backbone, a
    view or a folder layout is one `register` call next to its code.

    Args:
        what: what the entries are, for messages (e.g. `"backbone"`).
        argument: the user-facing argument that takes the names, for
            messages (e.g. `"backbone"`, `"mask_mode"`).

    Examples:
    ```python
    from keras_csdnet.utils.registry import Registry
    colours = Registry("colour", "colour")
    colours.register("red", (255, 0, 0))
    colours.get("red")   # (255, 0, 0)
    ```
    """

    def __init__(self, what, argument):
        self.what = what
        self.argument = argument
        self._entries = {}

    def register(self, name, entry=None):
        """Registers `entry` as `name`; usable as a decorator when `entry` is None."""
        if entry is None:
            return lambda obj: self.register(name, obj)
        if name in self._entries:
            raise ValueError(f"A {self.what} named {name!r} is already registered.")
        self._entries[name] = entry
        return entry

    def get(self, name):
        """The entry for `name`, or a `ValueError` listing the known names."""
        if not isinstance(name, str) or name not in self._entries:
            raise ValueError(
                f"Unknown `{self.argument}={name!r}`; known {self.what}s: {self.names()}."
            )
        return self._entries[name]

    def names(self):
        """The registered names, in registration order."""
        return list(self._entries)

    def __contains__(self, name):
        return isinstance(name, str) and name in self._entries

    def __iter__(self):
        return iter(self._entries)

    def __len__(self):
        return len(self._entries)

    def items(self):
        return self._entries.items()
