"""pyvrrp.proto"""
