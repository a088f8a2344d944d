from setuptools import find_packages, setup

package_name = "argos_camera"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="ARGOS edge maintainers",
    maintainer_email="maintainers@argos-edge.org",
    description=(
        "ARGOS camera node: capture sources (synthetic traffic scene, video files) publishing sensor_msgs/Image."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "camera_node = argos_camera.node:main",
            "annotator_node = argos_camera.annotator_node:main",
        ],
    },
)
