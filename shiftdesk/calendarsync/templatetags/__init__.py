"""Template tag libraries of calendarsync (calendarsync_tags)."""
