"""The fault drill of the default lab (issue 12): ``tools/lvs-drill``; see README.md, "The fault drill"."""
