"""The Sextant operator: typed API models, CRD generation, rendering and reconcile glue."""
