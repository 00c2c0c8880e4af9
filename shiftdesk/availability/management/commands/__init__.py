"""`refreshbusy`: the free/busy worker."""
