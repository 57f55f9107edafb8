"""Tend: an open-source customer-success platform."""
