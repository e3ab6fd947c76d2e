"""jepa_world.eval"""
