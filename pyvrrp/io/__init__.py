"""pyvrrp.io"""
