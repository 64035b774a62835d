"""End-to-end tests: real processes (the phony CLI, uvicorn, an S3 endpoint)."""
