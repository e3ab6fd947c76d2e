"""jepa_world.planning"""
