"""The transport layer: peers that carry packets between ids, and the links under them."""
