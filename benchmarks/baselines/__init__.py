"""The floors the refresher is compared with, and a documentation-style implementation."""
