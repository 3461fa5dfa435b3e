"""pyvrrp.lab"""
