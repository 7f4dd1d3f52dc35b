"""Written data on its way to put.io: the spool on local disk, the overlay of pending files over
put.io's tree, the uploader and its TUS transfer, the landing of a finished upload and the
uploads status. Raises domain errors only.
"""
