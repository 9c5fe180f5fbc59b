"""Road agents and the road observation/action types."""
