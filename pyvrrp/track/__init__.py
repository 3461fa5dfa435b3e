"""pyvrrp.track"""
