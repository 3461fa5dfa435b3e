"""pyvrrp.wire"""
