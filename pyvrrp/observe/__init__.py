"""pyvrrp.observe"""
