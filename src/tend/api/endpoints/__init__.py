"""API v1 routers, one module per resource family; tend.api.v1 mounts them."""
