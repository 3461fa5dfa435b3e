"""pyvrrp.runtime"""
