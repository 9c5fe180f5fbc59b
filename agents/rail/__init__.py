"""Rail agents: the types they exchange with the simulator and the reference drivers."""
