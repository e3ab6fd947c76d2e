"""jepa_world.methods"""
