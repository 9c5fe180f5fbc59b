"""Engine core: geometry, events, recorder, world, rollout."""
