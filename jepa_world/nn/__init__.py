"""jepa_world.nn"""
