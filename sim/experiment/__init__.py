"""Experiments: designs over scenarios and policies, runners, resumable storage, statistics."""
