"""The API gateway: credential → identity → one Redis round trip (limit, quota, meter) → view."""
