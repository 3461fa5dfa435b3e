"""pyvrrp.config"""
