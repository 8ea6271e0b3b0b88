# nbgrader reads this file by name; the course's configuration lives in course_config.py.
c = get_config()  # noqa: F821
load_subconfig("course_config.py")  # noqa: F821
