"""Saving a layer's random-generator state with its weights."""

SEED_STATE_KEY = "seed_state"


class SeedStateMixin:
    """Saves `self.seed_generator`'s state beside the layer's variables.

    Keras saves a layer's own variables in `.keras` and `.weights.h5` files
    (and so in `keras.callbacks.BackupAndRestore` backups) but not the state
    of its `keras.random.SeedGenerator`s: a reloaded or resumed layer starts
    its random stream again from the seed, so a resumed run draws other
    views than an uninterrupted one. A layer with this mixin writes the state
    under the key `"seed_state"` and reads it back; a file saved without it
    (an older release) still loads, with the generator left at its seed.
    """

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[SEED_STATE_KEY] = self.seed_generator.state

    def load_own_variables(self, store):
        keys = list(store.keys())
        if SEED_STATE_KEY not in keys:
            super().load_own_variables(store)
            return
        self.seed_generator.state.assign(store[SEED_STATE_KEY])
        super().load_own_variables({k: store[k] for k in keys if k != SEED_STATE_KEY})
