"""The agent's tools: each a JSON schema for the model and a function over our services (see base)."""
