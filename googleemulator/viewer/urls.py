"""placeholder"""

routes = []
