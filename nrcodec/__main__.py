from nrcodec.cli import main

main()
