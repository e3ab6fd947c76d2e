"""jepa_world.data"""
