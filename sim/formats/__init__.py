"""Readers and writers of standard formats: ASAM OpenDRIVE (roads) and OpenSCENARIO."""
