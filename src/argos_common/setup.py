from setuptools import find_packages, setup

package_name = "argos_common"

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
        "ARGOS shared core: parameter specs, counting-line geometry, detections, frame hand-off, health, "
        "endpoints (ROS-free), and the rclpy helpers every node uses (argos_common.ros)."
    ),
    license="Apache-2.0",
    tests_require=["pytest"],
)
