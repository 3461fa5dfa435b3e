from pyvrrp.cli import main

main()
